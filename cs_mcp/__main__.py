from cs_mcp.cli import main

raise SystemExit(main())
