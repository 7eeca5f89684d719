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


def progress(current):
    """[{number, label, state}] for the progress indicator: done, current or todo."""
    return [{"number": n, "name": name, "label": label,
             "state": "done" if n < current else ("current" if n == current else "todo")}
            for n, name, label in STEPS]
