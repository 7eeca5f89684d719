"""The wizard's seven steps, in order."""
STEPS = (
    (1, "direction", "Direction and target"),
    (2, "credentials", "Credentials"),
    (3, "mapping", "Model mapping"),
    (4, "verification", "Verification suite"),
    (5, "performance", "Performance and cost"),
    (6, "checklist", "Checklist"),
    (7, "switch", "Switch"),
)
LAST = len(STEPS)
NAMES = {number: name for number, name, _ in STEPS}
LABELS = {number: label for number, _, label in STEPS}


def progress(current, failed=()):
    """[{number, label, state, failed}] for the progress indicator: done, current or todo; `failed`
    marks the steps whose result blocks the switch."""
    return [{"number": n, "name": name, "label": label, "failed": n in failed and n != current,
             "state": "done" if n < current else ("current" if n == current else "todo")}
            for n, name, label in STEPS]


# What must exist before moving past a step (its results feed the later ones).
REQUIRED = {3: ("mapping", "Check the model mapping first."),
            4: ("verification", "Run the verification suite first.")}


def missing_before(step, data):
    """The first requirement of the steps before `step` that is not met, as (step, message), or None."""
    for number, (name, message) in sorted(REQUIRED.items()):
        if number < step and not (data.get(name) or {}).get("result"):
            return number, message
    return None
