import signal


def _stopped_early(signum, frame):  # noqa: ARG001
    """A stop before castkit has started any work (Python still importing it): nothing to
    clean up or report, and no traceback of the import it interrupted; a shell's status."""
    raise SystemExit(130)


_stopped_early.castkit_early = True  # base.stops replaces it with the orderly stop
signal.signal(signal.SIGINT, _stopped_early)
signal.signal(signal.SIGTERM, _stopped_early)

from .cli import main  # noqa: E402 - after the handlers above, on purpose

try:
    status = main()
except KeyboardInterrupt:  # a stop in the instant after main() had returned its status
    status = 130
# castkit is done: a stop now changes nothing (and must not end it with a traceback or as
# killed by the signal, status -2).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
raise SystemExit(status)
