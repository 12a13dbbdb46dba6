"""`kanaal demo`: a demo retailer, the server and a simulated day driving it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from kanaal.demo.seed import KEYS_FILE


def demo(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option("--data-dir", help="where the demo database lives")
                        ] = Path("var/demo"),
    speed: Annotated[float, typer.Option(
        help="simulated seconds per real second", min=1.0, max=3600.0)] = 60.0,
) -> None:
    """Start the demo retailer: server, dashboard, agent desk and a simulated day."""
    import uvicorn

    from kanaal.config import Settings
    from kanaal.core.context import build_context
    from kanaal.demo.driver import Driver
    from kanaal.demo.seed import seed
    from kanaal.migrations.runner import upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    # The server reads its settings from the environment: point it at the demo database.
    os.environ["KANAAL_DATA_DIR"] = str(data_dir.resolve())
    os.environ["KANAAL_DATABASE_URL"] = f"sqlite:///{(data_dir / 'kanaal.db').resolve()}"
    os.environ.pop("KANAAL_REDIS_URL", None)
    settings = Settings()
    ctx = build_context(settings)
    upgrade(ctx.db)
    data = seed(ctx)
    ctx.db.dispose()
    base = f"http://{host}:{port}"
    config = uvicorn.Config("kanaal.app:create_app", factory=True, host=host, port=port,
                            log_level="warning", access_log=False)
    driver = Driver(base, data, speed=speed)

    class DemoServer(uvicorn.Server):
        """Stops the simulated day first, so no request races the shutdown."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            driver.stop.set()
            super().handle_exit(sig, frame)

    server = DemoServer(config)

    def start_driver() -> None:
        while not server.started and not driver.stop.is_set():
            time.sleep(0.1)
        if server.started:
            driver.start()

    threading.Thread(target=start_driver, daemon=True).start()
    typer.echo(_banner(base, data, speed, data_dir))
    try:
        server.run()  # handles Ctrl-C: stops accepting, finishes requests, runs shutdown
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; the shutdown is already done
    finally:
        driver.close()
        typer.echo("demo stopped")


def _banner(base: str, data: dict, speed: float, data_dir: Path) -> str:
    keys = data["keys"]
    return "\n".join([
        "Kanaal demo retailer",
        f"  dashboard:   {base}/dashboard#key={keys['read']}",
        f"  agent desk:  {base}/desk  (agent1@demo.test .. agent12@demo.test, "
        f"password {data['agent_password']})",
        f"  demo shop:   {base}/demo/shop",
        f"  catalog:     {data.get('products', 0)} products, a warehouse and three stores",
        f"  API docs:    {base}/docs",
        f"  keys:        web write {keys['web_write']}",
        f"               read {keys['read']}",
        f"               admin {keys['admin']}",
        f"  (also in {data_dir / KEYS_FILE})",
        f"A simulated day (08:00-22:00) runs at {speed:g}x speed. Ctrl-C stops the demo.",
    ])
