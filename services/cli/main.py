"""The one ``bus`` command: run the bus, manage topics, publish, tail, simulate, handle dead letters."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.bus.catalogue import CATALOGUE, TopicSpec, create_topics
from services.bus.errors import BusError
from services.bus.settings import get_settings
from services.cli import archive as archive_cli
from services.cli import audit, cases, figures, passport, traffic, users

SEED_HELP = (
    "Random seed: the same seed gives the same traffic; 0 (the default) takes a new one from the clock and"
    " prints it, so a second run does not send the ids of the first again"
)
app = typer.Typer(help="The mission service bus.", no_args_is_help=True, add_completion=False)
topics_app = typer.Typer(help="The topic catalogue.", no_args_is_help=True)
dead_app = typer.Typer(help="Refused events: inspect and re-publish.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(dead_app, name="deadletter")
registry_app = typer.Typer(help="The unified citizen registry.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
cases_app = typer.Typer(help="Protection cases of every office, live.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
passport_app = typer.Typer(help="The passport service: bookings, status, figures.", no_args_is_help=True)
app.add_typer(passport_app, name="passport")
app.add_typer(users.users_app, name="users")
traffic_app = typer.Typer(help="Traffic: records per minute by domain and office.", no_args_is_help=True)
app.add_typer(traffic_app, name="traffic")
app.add_typer(audit.audit_app, name="audit")
app.command("replay")(audit.replay)


def all_topics() -> tuple[TopicSpec, ...]:
    """The bus's catalogue and every processor's own topics."""
    from services.deadletters.app import TOPICS as DEADLETTER_TOPICS
    from services.passport.topics import PASSPORT_TOPICS
    from services.protection.topics import PROTECTION_TOPICS
    from services.registry.topics import REGISTRY_TOPICS
    from services.traffic.app import TOPICS as TRAFFIC_TOPICS

    return (
        *CATALOGUE,
        *REGISTRY_TOPICS,
        *DEADLETTER_TOPICS,
        *PROTECTION_TOPICS,
        *PASSPORT_TOPICS,
        *TRAFFIC_TOPICS,
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the error on stderr and give the Exit (with ``code``) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the bus and of its processors that does not exist yet (idempotent)."""
    created = create_topics(get_settings(), all_topics())
    typer.echo("created: " + (", ".join(created) if created else "nothing (all exist)"))


@topics_app.command("list")
def topics_list() -> None:
    """The catalogue (the bus's and the processors' topics), with whether each exists on the broker."""
    settings = get_settings()
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    for spec in all_topics():
        name = settings.topic(spec.name)
        mark = "ok" if name in existing else "missing"
        typer.echo(f"{name:<22} {mark:<8} key: {spec.key}")


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="JSON file with one or more events; - for stdin")] = Path("-"),
    type_: Annotated[str | None, typer.Option("--type", help="Event type when the JSON is only data")] = None,
    source: Annotated[str | None, typer.Option(help="Office code when the JSON is only data")] = None,
) -> None:
    """Validate and publish events; nothing is sent unless every event is valid."""
    from services.bus.publisher import Publisher
    from services.cli.jsoninput import parse_documents, to_event

    text = read_input(file)
    try:
        events = [to_event(doc, type_=type_, source=source) for doc in parse_documents(text)]
        with Publisher() as publisher:
            results = publisher.publish_many((e.payload, e.meta) for e in events)
    except BusError as exc:
        raise fail(f"{exc.reason}: {exc.message} (nothing was published)") from None
    except KafkaError as exc:
        raise fail(f"the broker could not be used ({type(exc).__name__}); nothing was published", 1) from None
    for r in results:
        typer.echo(f"published {r.event_id} to {r.topic}[{r.partition}]@{r.offset}")


def read_input(file: Path) -> str:
    """The text of ``file`` (``-``: stdin); a missing file or bytes that are not UTF-8 exit 2, not a trace."""
    try:
        return sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail("the input is not UTF-8 text") from None
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or type(exc).__name__}") from None


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Topic name from the catalogue, e.g. citizen")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest event")
    ] = False,
    limit: Annotated[int, typer.Option("--max", help="Stop after this many events (0: follow)")] = 0,
    idle: Annotated[float, typer.Option(help="Stop after this many idle seconds (0: never)")] = 0.0,
    show_personal: Annotated[
        bool, typer.Option(help="Print the personal part instead of redacting it")
    ] = False,
) -> None:
    """Print decoded events as JSON lines; a record that does not decode is shown with its error (and
    its bytes only with --show-personal), never skipped, never the end of the tail.
    """
    from services.cli.tail import tail_topic

    try:
        tail_topic(
            get_settings(),
            topic,
            from_beginning=from_beginning,
            limit=limit,
            idle=idle,
            show_personal=show_personal,
        )
    except BusError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from None
    except KafkaError as exc:
        raise fail(f"the broker could not be used ({type(exc).__name__})", 1) from None


@app.command()
def simulate(
    rate: Annotated[float, typer.Option(help="Events per second")] = 50.0,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: until Ctrl-C)")] = 0,
    seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
) -> None:
    """Publish realistic traffic from all 132 offices and the agencies."""
    from services.cli.simulate import chosen_seed, run_simulator

    seed = chosen_seed(seed)
    run_simulator(get_settings(), rate=rate, count=count, seed=seed, live=sys.stdout.isatty())


@dead_app.command("list")
def deadletter_list(
    limit: Annotated[int, typer.Option("--max", help="At most this many")] = 100,
) -> None:
    """Refused records with their reason, original topic and offset (values are not printed)."""
    from services.cli.deadletters import list_deadletters

    try:
        for line in list_deadletters(get_settings(), limit=limit):
            typer.echo(line)
    except BusError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from None
    except KafkaError as exc:
        raise fail(f"the broker could not be used ({type(exc).__name__})", 1) from None


@dead_app.command("replay")
def deadletter_replay(
    offset: Annotated[int, typer.Argument(help="Offset of the dead letter in bus.deadletter")],
    partition: Annotated[int, typer.Option(help="Partition of bus.deadletter")] = 0,
    fixed: Annotated[
        Path | None,
        typer.Option(
            help="JSON replacing the refused event: its data, or a full event {type, source, time?, id?, "
            "data}; what it leaves out is taken from the original envelope where that parses"
        ),
    ] = None,
) -> None:
    """Re-publish a dead letter to its original topic (as it was, or with a fixed payload)."""
    from services.cli.deadletters import replay_deadletter

    try:
        result = replay_deadletter(get_settings(), partition=partition, offset=offset, fixed=fixed)
    except BusError as exc:
        raise fail(f"{exc.reason}: {exc.message} (nothing was published)") from None
    except KafkaError as exc:
        raise fail(f"the broker could not be used ({type(exc).__name__}); nothing was published", 1) from None
    except UnicodeDecodeError:
        raise fail("the fixed event is not UTF-8 text (nothing was published)") from None
    except OSError as exc:
        raise fail(f"cannot read {fixed}: {exc.strerror or type(exc).__name__}") from None
    typer.echo(f"re-published to {result.topic}[{result.partition}]@{result.offset}")


@app.command()
def run(
    rate: Annotated[float, typer.Option(help="Simulated events per second")] = 50.0,
    seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
    broker: Annotated[bool, typer.Option(help="Start (and on exit stop) the local dev broker")] = True,
) -> None:
    """The main job: Kafka, topics, processors, the front door, the simulator and a live summary. Ctrl-C
    stops everything.
    """
    from services.cli.run import Processor, run_bus
    from services.deadletters.app import DeadLetterSettings
    from services.passport.settings import PassportSettings
    from services.protection.settings import ProtectionSettings
    from services.registry.settings import RegistrySettings
    from services.traffic.app import TrafficSettings

    processors = (
        Processor(
            "registry", ("registry", "worker"), f"http://127.0.0.1:{RegistrySettings().web_port}/stats"
        ),
        Processor(
            "deadletters", ("deadletter", "worker"), f"http://127.0.0.1:{DeadLetterSettings().web_port}/stats"
        ),
        Processor(
            "protection", ("cases", "worker"), f"http://127.0.0.1:{ProtectionSettings().web_port}/stats"
        ),
        Processor(
            "passport", ("passport", "worker"), f"http://127.0.0.1:{PassportSettings().web_port}/stats"
        ),
        Processor("traffic", ("traffic", "worker"), f"http://127.0.0.1:{TrafficSettings().web_port}/stats"),
    )
    from services.cli.simulate import chosen_seed

    seed = chosen_seed(seed)
    run_bus(get_settings(), processors, topics=all_topics(), rate=rate, seed=seed, start_broker=broker)


@registry_app.command("worker")
def registry_worker() -> None:
    """Run the registry processor (faust worker with its HTTP views) until Ctrl-C."""
    from services.registry.app import worker_main
    from services.registry.settings import RegistrySettings

    sys.argv = [sys.argv[0], "worker"]
    worker_main(get_settings(), RegistrySettings())


@registry_app.command("get")
def registry_get(
    *,
    nik: Annotated[str | None, typer.Option(help="16-digit NIK (sent in a POST body, never logged)")] = None,
    passport: Annotated[str | None, typer.Option(help="Passport number")] = None,
    citizen_id: Annotated[str | None, typer.Option(help="Citizen id")] = None,
    purpose: Annotated[
        str, typer.Option(help="Why you look (required; recorded): CONSULAR_SERVICE, AUDIT, ...")
    ],
    token: Annotated[str | None, typer.Option(help="Your API token (else BUS_TOKEN)")] = None,
    show_personal: Annotated[bool, typer.Option(help="Print personal data unredacted")] = True,
) -> None:
    """Look a citizen up through the front door; the lookup is recorded on registry.access under the account
    your token proves (name, role, office), with the purpose you give.
    """
    from services.cli.front_door import FrontDoorClient, TokenMissing, user_token

    body = {"nik": nik, "passport_number": passport, "citizen_id": citizen_id}
    if sum(v is not None for v in body.values()) != 1:
        raise fail("give exactly one of --nik, --passport, --citizen-id")
    try:
        client = FrontDoorClient.from_env(user_token(token))
        result = client.citizen({k: v for k, v in body.items() if v is not None}, purpose)
    except TokenMissing as exc:
        raise fail(str(exc)) from None
    except LookupError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(FrontDoorClient.render(result["record"], show_personal=show_personal))


@registry_app.command("candidates")
def registry_candidates() -> None:
    """Candidate matches waiting for an officer's decision."""
    from services.cli.registry_client import RegistryClient

    typer.echo(RegistryClient.render(RegistryClient.from_env().get("/registry/candidates")))


@registry_app.command("sample")
def registry_sample(
    offices: Annotated[int, typer.Option(help="Seen at at least this many offices")] = 2,
    limit: Annotated[int, typer.Option("--max", help="At most this many ids")] = 5,
) -> None:
    """Citizen ids (never personal data) of records merged from events of several offices."""
    from services.cli.registry_client import RegistryClient

    result = RegistryClient.from_env().get(f"/registry/sample?offices={offices}&max={limit}")
    for citizen_id in result["citizen_ids"]:
        typer.echo(citizen_id)


@registry_app.command("counts")
def registry_counts() -> None:
    """Citizens abroad per office and per country (absolute figures)."""
    from services.cli.registry_client import RegistryClient

    typer.echo(RegistryClient.render(RegistryClient.from_env().get("/registry/counts")))


dead_app.command("worker")(figures.deadletter_worker)
dead_app.command("figures")(figures.deadletter_figures)
cases_app.command("worker")(cases.cases_worker)
cases_app.command("show")(cases.cases_show)
cases_app.command("office")(cases.cases_office)
cases_app.command("overdue")(cases.cases_overdue)
cases_app.command("figures")(cases.cases_figures)
passport_app.command("worker")(passport.passport_worker)
passport_app.command("status")(passport.passport_status)
passport_app.command("figures")(passport.passport_figures)
traffic_app.command("worker")(traffic.traffic_worker)
app.command("dashboard")(users.dashboard)
app.command("archive")(archive_cli.archive_command)
app.command("verify")(archive_cli.verify_command)


def main() -> None:
    """Entry point of the ``bus`` command (and of ``python -m services``)."""
    app()
