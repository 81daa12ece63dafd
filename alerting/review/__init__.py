"""Pull-request review of probe configs: what the change does to monitoring (`probes diff`)
and which alerts it would have raised (`backtest`), compared with the base commit."""
