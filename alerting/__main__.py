from alerting.cli import main

raise SystemExit(main())
