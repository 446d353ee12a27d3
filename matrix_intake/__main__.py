from .main import run

raise SystemExit(run())
