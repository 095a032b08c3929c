"""The End call table of `roleplay bench --report`: ratios to one customer reply."""

from __future__ import annotations

from roleplay.bench_report import ReportTimes, format_report_table, trainee_lines
from roleplay.config import Settings


def test_rows_give_wall_cpu_and_the_ratio_to_the_median_reply() -> None:
    times = ReportTimes(reply_s=[2.0, 4.0, 9.0], ttft_s=[0.5, 0.6, 0.7], scores=(1.0, 0.5),
                        full=(8.0, 3.0), advice_at_scores=1, advice_total=3)
    table = format_report_table(times, pause=15)
    assert "| scores | 1.00 | 0.50 | 0.25 |" in table
    assert "| full report (every rewrite) | 8.00 | 3.00 | 2.00 |" in table
    assert "3 trainee lines, 15 s typing pause" in table
    assert "rewrites ready at the scores 1 of 3" in table


def test_the_replayed_call_is_the_ten_turn_file() -> None:
    lines = trainee_lines(Settings())
    assert len(lines) == 5 and all(line.strip() for line in lines)
