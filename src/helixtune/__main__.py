from helixtune.cli import main

raise SystemExit(main())
