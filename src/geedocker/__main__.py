from geedocker.cli.main import main

raise SystemExit(main())
