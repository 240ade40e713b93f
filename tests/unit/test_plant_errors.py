"""Plant files that do not load: cross-check errors, schema errors and YAML syntax errors name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.plant import PlantError, PlantProblem, load_plant, parse_plant

pytestmark = pytest.mark.unit

SMALL_PLANT = """\
enterprise_id: acme
site_id: plant1
timezone: Europe/Berlin
workshops:
  - id: heading
    name: Cold heading
    name_zh: 冷镦车间
    lines:
      - id: HL1
        name: Heading line 1
        machines:
          - id: H1
            name: Heading press H1
            workcenter_id: WC-HEAD
            ideal_cycle_s: 0.9
          - id: H2
            name: Heading press H2
            workcenter_id: WC-HEAD
            ideal_cycle_s: 0.9
  - id: threading
    name: Thread rolling
    name_zh: 搓丝车间
    lines:
      - id: TL1
        name: Rolling line
        machines:
          - id: R1
            name: Thread roller R1
            workcenter_id: WC-ROLL
            ideal_cycle_s: 0.4
workcenters:
  - id: WC-HEAD
    name: Heading
    workshop_id: heading
    machine_ids: [H1, H2]
    calendar_id: CAL-2S
    bottleneck: true
  - id: WC-ROLL
    name: Rolling
    workshop_id: threading
    machine_ids: [R1]
    calendar_id: CAL-2S
calendars:
  - id: CAL-2S
    name: Two shifts
    shifts:
      - {name: day, start: 06:00, end: 14:00, weekdays: [Mon, Tue, Wed, Thu, Fri]}
      - {name: night, start: 22:00, end: 06:00, weekdays: [Mon, Tue, Wed, Thu, Fri]}
    holidays: [2026-12-25]
    maintenance:
      - {machine_id: H2, start: 2026-12-01T08:00:00, end: 2026-12-01T10:00:00}
products:
  - id: HB-M8x30
    name: Hex bolt M8x30
    material_id: WR-35K
    routing:
      - {seq: 1, name: heading, workcenter_id: WC-HEAD, eligible_machine_ids: [H2], setup_min: 45, unit_min: 0.02}
      - {seq: 2, name: rolling, workcenter_id: WC-ROLL, setup_min: 30, unit_min: 0.01}
customers:
  - {id: CUST-001, name: Ningbo Auto Parts, strategic: true}
  - {id: CUST-002, name: Suzhou Hardware}
materials:
  - {id: WR-35K, name: Wire rod SWRCH35K, unit: kg, lead_time_days: 14}
"""


def line_of(text: str, fragment: str) -> int:
    """1-based number of the only line containing ``fragment``."""
    found = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(found) == 1, f"{fragment!r} is on lines {found}"
    return found[0]


def broken(old: str, new: str) -> str:
    """SMALL_PLANT with one exact fragment replaced."""
    assert SMALL_PLANT.count(old) == 1, old
    return SMALL_PLANT.replace(old, new)


def problems_of(text: str) -> list[PlantProblem]:
    with pytest.raises(PlantError) as caught:
        parse_plant(text, "plant.yaml")
    return caught.value.problems


def test_small_plant_is_valid() -> None:
    plant = parse_plant(SMALL_PLANT)
    assert plant.counts()["machines"] == 3
    assert plant.workcenter_of("H2").id == "WC-HEAD"
    # YAML 1.2 numbers: shift times stay times, not base-60 integers.
    assert plant.calendar("CAL-2S").shifts[1].start.hour == 22


# (replace this, with that, expected path, expected reason, a fragment of the line it must name)
CROSS_CHECKS = [
    pytest.param(
        "workcenter_id: WC-ROLL, setup_min",
        "workcenter_id: WC-NOPE, setup_min",
        "products[0].routing[1].workcenter_id",
        "unknown workcenter id 'WC-NOPE'",
        "WC-NOPE",
        id="unknown-workcenter",
    ),
    pytest.param(
        "machine_ids: [R1]",
        "machine_ids: [R1, R9]",
        "workcenters[1].machine_ids[1]",
        "unknown machine id 'R9'",
        "[R1, R9]",
        id="unknown-machine",
    ),
    pytest.param(
        "material_id: WR-35K",
        "material_id: WR-99",
        "products[0].material_id",
        "unknown material id 'WR-99'",
        "WR-99",
        id="unknown-material",
    ),
    pytest.param(
        "    calendar_id: CAL-2S\n    bottleneck",
        "    calendar_id: CAL-9\n    bottleneck",
        "workcenters[0].calendar_id",
        "unknown calendar id 'CAL-9'",
        "CAL-9",
        id="unknown-calendar",
    ),
    pytest.param(
        "{machine_id: H2, start",
        "{machine_id: H7, start",
        "calendars[0].maintenance[0].machine_id",
        "unknown machine id 'H7'",
        "machine_id: H7",
        id="maintenance-of-unknown-machine",
    ),
    pytest.param(
        "machine_ids: [R1]",
        "machine_ids: [R1, H1]",
        "workcenters[1].machine_ids[1]",
        "machine 'H1' is already in workcenter 'WC-HEAD'",
        "[R1, H1]",
        id="machine-in-two-workcenters",
    ),
    pytest.param(
        "workcenter_id: WC-ROLL\n            ideal_cycle_s: 0.4",
        "workcenter_id: WC-HEAD\n            ideal_cycle_s: 0.4",
        "workshops[1].lines[0].machines[0].workcenter_id",
        "workcenter 'WC-HEAD' does not list machine 'R1' in machine_ids",
        "            workcenter_id: WC-HEAD\n            ideal_cycle_s: 0.4",
        id="machine-names-a-workcenter-that-does-not-list-it",
    ),
    pytest.param(
        "eligible_machine_ids: [H2]",
        "eligible_machine_ids: [R1]",
        "products[0].routing[0].eligible_machine_ids[0]",
        "machine 'R1' is not in the operation's workcenter 'WC-HEAD'",
        "eligible_machine_ids: [R1]",
        id="eligible-machine-outside-workcenter",
    ),
    pytest.param(
        "- {id: CUST-002, name: Suzhou Hardware}",
        "- {id: CUST-001, name: Suzhou Hardware}",
        "customers[1].id",
        "duplicate customer id 'CUST-001'",
        "Suzhou Hardware",
        id="duplicate-customer",
    ),
    pytest.param(
        "          - id: R1\n            name: Thread roller R1",
        "          - id: H1\n            name: Thread roller R1",
        "workshops[1].lines[0].machines[0].id",
        "duplicate machine id 'H1'",
        "          - id: H1\n            name: Thread roller R1",
        id="duplicate-machine",
    ),
]


@pytest.mark.parametrize(("old", "new", "path", "reason", "fragment"), CROSS_CHECKS)
def test_cross_check_names_path_reason_and_line(old: str, new: str, path: str, reason: str, fragment: str) -> None:
    text = broken(old, new)
    problems = problems_of(text)
    assert (problems[0].path, problems[0].reason) == (path, reason), problems
    # The line where the fragment starts (fragments span lines when a value alone is ambiguous).
    assert problems[0].line == text.count("\n", 0, text.index(fragment)) + 1, problems[0]


def test_empty_routing_is_refused_at_its_line() -> None:
    start = SMALL_PLANT.index("    routing:\n")
    end = SMALL_PLANT.index("customers:")
    text = SMALL_PLANT[:start] + "    routing: []\n" + SMALL_PLANT[end:]
    [problem] = problems_of(text)
    assert problem.path == "products[0].routing"
    assert "at least 1 item" in problem.reason
    assert problem.line == line_of(text, "routing: []")


def test_schema_error_names_line_column_and_path() -> None:
    text = broken("ideal_cycle_s: 0.4", "ideal_cycle_s: -1")
    with pytest.raises(PlantError) as caught:
        parse_plant(text, "demo.yaml")
    line = line_of(text, "ideal_cycle_s: -1")
    column = text.splitlines()[line - 1].index("ideal_cycle_s") + 1
    assert str(caught.value) == (
        f"demo.yaml:{line}:{column}: workshops[1].lines[0].machines[0].ideal_cycle_s: Input should be greater than 0"
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "reason_part", "fragment"),
    [
        pytest.param(
            "bottleneck: true",
            "botleneck: true",
            "workcenters[0].botleneck",
            "Extra inputs",
            "botleneck",
            id="unknown-key",
        ),
        pytest.param(
            "start: 06:00", "start: 25:00", "calendars[0].shifts[0].start", "valid time", "25:00", id="bad-time"
        ),
        pytest.param(
            "Europe/Berlin",
            "Mars/Olympus",
            "timezone",
            "unknown IANA timezone 'Mars/Olympus'",
            "Mars/Olympus",
            id="bad-timezone",
        ),
        pytest.param(
            "weekdays: [Mon, Tue, Wed, Thu, Fri]}\n      - {name: night",
            "weekdays: [Mon, Tue, Wed, Thu, Funday]}\n      - {name: night",
            "calendars[0].shifts[0].weekdays[4]",
            "Input should be 'Mon'",
            "Funday",
            id="bad-weekday",
        ),
    ],
)
def test_schema_errors(old: str, new: str, path: str, reason_part: str, fragment: str) -> None:
    text = broken(old, new)
    [problem] = problems_of(text)
    assert problem.path == path
    assert reason_part in problem.reason
    assert problem.line == line_of(text, fragment)


def test_missing_field_points_at_the_mapping_that_lacks_it() -> None:
    text = broken("    name_zh: 搓丝车间\n", "")
    [problem] = problems_of(text)
    assert (problem.path, problem.reason) == ("workshops[1].name_zh", "Field required")
    assert problem.line == line_of(text, "- id: threading")


@pytest.mark.parametrize(
    ("old", "new", "line_fragment", "reason_part"),
    [
        pytest.param("    name: Rolling\n", "\tname: Rolling\n", "\tname: Rolling", "tab", id="tab"),
        pytest.param(
            "name: Heading press H1\n",
            "name: Heading press H1: x\n",
            "H1: x",
            "mapping values are not allowed",
            id="colon-in-plain-scalar",
        ),
        pytest.param(
            "    bottleneck: true\n",
            "    bottleneck: true\n    bottleneck: false\n",
            "bottleneck: false",
            "duplicate key 'bottleneck'",
            id="duplicate-key",
        ),
    ],
)
def test_yaml_syntax_error_names_the_line(old: str, new: str, line_fragment: str, reason_part: str) -> None:
    text = broken(old, new)
    [problem] = problems_of(text)
    assert problem.line == line_of(text, line_fragment)
    assert reason_part in problem.reason


def test_unclosed_bracket_names_where_it_was_opened() -> None:
    text = broken("machine_ids: [H1, H2]", "machine_ids: [H1, H2")
    [problem] = problems_of(text)
    opened = line_of(text, "machine_ids: [H1, H2")
    # PyYAML notices on the next line; the reason says where the sequence began.
    assert problem.line == opened + 1
    assert f"flow sequence at line {opened}," in problem.reason


def test_documents_that_are_not_a_plant() -> None:
    assert problems_of("")[0].reason == "the document is empty"
    assert "must be a mapping" in problems_of("- a\n- b\n")[0].reason


def test_missing_file_is_a_plant_error(tmp_path: Path) -> None:
    with pytest.raises(PlantError, match="cannot read the file"):
        load_plant(tmp_path / "absent.yaml")


def test_load_plant_names_the_path_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(broken("ideal_cycle_s: 0.4", "ideal_cycle_s: 0"), encoding="utf-8")
    with pytest.raises(PlantError) as caught:
        load_plant(path)
    assert str(caught.value).startswith(f"{path}:")
