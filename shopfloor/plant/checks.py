"""Cross-checks between the parts of a plant: references resolve, ids are unique, machines belong once.

Each issue carries the location of the offending value in the document, in pydantic's form, so the
loader can point at the YAML line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopfloor.plant.plant import DocPath, Issue

if TYPE_CHECKING:
    from shopfloor.plant.plant import Plant


def _duplicates(items: list[tuple[str, DocPath]], what: str) -> list[Issue]:
    seen: dict[str, DocPath] = {}
    issues = []
    for ident, path in items:
        if ident in seen:
            issues.append(Issue(path, f"duplicate {what} id {ident!r}"))
        else:
            seen[ident] = path
    return issues


def cross_check(plant: Plant) -> list[Issue]:
    issues: list[Issue] = []
    machines: list[tuple[str, DocPath]] = []
    machine_workshop: dict[str, str] = {}
    machine_wc: dict[str, tuple[str, DocPath]] = {}
    lines: list[tuple[str, DocPath]] = []
    for w, ws in enumerate(plant.workshops):
        for li, line in enumerate(ws.lines):
            lines.append((line.id, ("workshops", w, "lines", li, "id")))
            for m, machine in enumerate(line.machines):
                path: DocPath = ("workshops", w, "lines", li, "machines", m)
                machines.append((machine.id, (*path, "id")))
                # A duplicate id is reported once, above; keep the first machine's facts.
                machine_workshop.setdefault(machine.id, ws.id)
                machine_wc.setdefault(machine.id, (machine.workcenter_id, (*path, "workcenter_id")))

    issues += _duplicates([(ws.id, ("workshops", i, "id")) for i, ws in enumerate(plant.workshops)], "workshop")
    issues += _duplicates(lines, "line")
    issues += _duplicates(machines, "machine")
    issues += _duplicates([(wc.id, ("workcenters", i, "id")) for i, wc in enumerate(plant.workcenters)], "workcenter")
    issues += _duplicates([(c.id, ("calendars", i, "id")) for i, c in enumerate(plant.calendars)], "calendar")
    issues += _duplicates([(p.id, ("products", i, "id")) for i, p in enumerate(plant.products)], "product")
    issues += _duplicates([(c.id, ("customers", i, "id")) for i, c in enumerate(plant.customers)], "customer")
    issues += _duplicates([(m.id, ("materials", i, "id")) for i, m in enumerate(plant.materials)], "material")

    workshop_ids = {ws.id for ws in plant.workshops}
    calendar_ids = {c.id for c in plant.calendars}
    material_ids = {m.id for m in plant.materials}
    workcenters = {wc.id: wc for wc in plant.workcenters}

    listed_in: dict[str, str] = {}
    for i, wc in enumerate(plant.workcenters):
        here: DocPath = ("workcenters", i)
        if wc.workshop_id not in workshop_ids:
            issues.append(Issue((*here, "workshop_id"), f"unknown workshop id {wc.workshop_id!r}"))
        if wc.calendar_id not in calendar_ids:
            issues.append(Issue((*here, "calendar_id"), f"unknown calendar id {wc.calendar_id!r}"))
        for j, machine_id in enumerate(wc.machine_ids):
            at: DocPath = (*here, "machine_ids", j)
            if machine_id not in machine_wc:
                issues.append(Issue(at, f"unknown machine id {machine_id!r}"))
            elif machine_id in listed_in:
                issues.append(Issue(at, f"machine {machine_id!r} is already in workcenter {listed_in[machine_id]!r}"))
            else:
                listed_in[machine_id] = wc.id
                if machine_workshop[machine_id] != wc.workshop_id:
                    issues.append(
                        Issue(
                            at,
                            f"machine {machine_id!r} is in workshop {machine_workshop[machine_id]!r}, "
                            f"not the workcenter's {wc.workshop_id!r}",
                        )
                    )

    for machine_id, (wc_id, at) in machine_wc.items():
        if wc_id not in workcenters:
            issues.append(Issue(at, f"unknown workcenter id {wc_id!r}"))
        elif listed_in.get(machine_id) != wc_id:
            issues.append(Issue(at, f"workcenter {wc_id!r} does not list machine {machine_id!r} in machine_ids"))

    for i, calendar in enumerate(plant.calendars):
        for j, window in enumerate(calendar.maintenance):
            if window.machine_id not in machine_wc:
                at = ("calendars", i, "maintenance", j, "machine_id")
                issues.append(Issue(at, f"unknown machine id {window.machine_id!r}"))

    for i, product in enumerate(plant.products):
        here = ("products", i)
        if product.material_id not in material_ids:
            issues.append(Issue((*here, "material_id"), f"unknown material id {product.material_id!r}"))
        for j, op in enumerate(product.routing):
            op_at: DocPath = (*here, "routing", j)
            op_wc = workcenters.get(op.workcenter_id)
            if op_wc is None:
                issues.append(Issue((*op_at, "workcenter_id"), f"unknown workcenter id {op.workcenter_id!r}"))
                continue
            for k, machine_id in enumerate(op.eligible_machine_ids):
                if machine_id not in op_wc.machine_ids:
                    issues.append(
                        Issue(
                            (*op_at, "eligible_machine_ids", k),
                            f"machine {machine_id!r} is not in the operation's workcenter {op_wc.id!r}",
                        )
                    )
    return issues
