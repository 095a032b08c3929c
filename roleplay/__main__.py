from roleplay.cli import main

raise SystemExit(main())
