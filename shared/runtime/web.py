"""Entry point of a service's web process: `python -m shared.runtime.web <service>` (nameko, eventlet)."""
import warnings

# eventlet warns on import that it is deprecated: nameko 2.14 needs it, so the warning is ours to know, not to print
warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402
import eventlet.event  # noqa: E402

eventlet.monkey_patch()  # before psycopg, kombu or eventsourcing are imported

import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared.config import Settings, http_port  # noqa: E402
from shared.store.persistence import use_green_psycopg  # noqa: E402
from shared.runtime.spec import service_class, web_services  # noqa: E402

def main(service: str) -> None:
    if service not in web_services():
        raise SystemExit(f"unknown or not yet built service {service!r}; one of {', '.join(web_services())}")
    use_green_psycopg()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {service}-web %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    cls = service_class(service)
    runner = ServiceRunner({"WEB_SERVER_ADDRESS": f"0.0.0.0:{http_port(service)}", "AMQP_URI": settings.amqp_uri})
    runner.add_service(cls)

    stopping = eventlet.event.Event()
    # A signal only sets the event: the hub may sit in an idle accept() for a minute before a
    # greenthread spawned from the handler would run, so the main greenthread polls instead.
    signal.signal(signal.SIGTERM, lambda *_: stopping.ready() or stopping.send())
    signal.signal(signal.SIGINT, lambda *_: stopping.ready() or stopping.send())
    runner.start()
    logging.getLogger(__name__).info("%s listening on :%s", service, http_port(service))
    while not stopping.ready():
        eventlet.sleep(0.2)
    runner.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
