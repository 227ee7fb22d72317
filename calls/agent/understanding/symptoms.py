"""Symptoms callers describe on the phone, heard by an independent tester (issue 6), and the words a shop's
service keywords are likely to contain for them ("a|b": a, else b). Read with the synonyms of services.py.

A symptom that names no service of its own must not fall to a broader rule: a clunk over bumps is the
suspension, not the engine's diagnostics; a car that clicks and won't start is the battery, not a strange noise.
For that, a pattern here spans the words the broader rule matched too, and the longer span wins.
"""

SYMPTOM_SYNONYMS: list[tuple[str, str]] = [
    # the tire pressure (TPMS) light: the tires are checked and set, not the engine scanned
    (
        r"\b(tire|tyre) pressure( (warning )?(light|sensor|monitor|warning))?\b|\btpms\b|\blow (tire|tyre)s?\b|"
        r"\b(tire|tyre)s? (is |are |looks? |seems? )?(low|soft|going flat)\b",
        "tire pressure|tire rotation|tires",
    ),
    # coolant is the green (orange, pink) fluid under the front of the car
    (
        r"\bleak\w*\b.{0,25}\b(green|orange|pink|sweet smelling)\b( \w+)?|\b(green|orange|pink) (stuff|fluid|liquid|"
        r"puddle|drip\w*|leak\w*)\b",
        "coolant|antifreeze|radiator",
    ),
    # a clunk or knock over bumps: suspension, looked at in an inspection
    (
        r"\b(clunk|knock|rattl|thump|bang|creak|squeak)\w*( noise| sound)?\b.{0,50}\b(over|hit\w*|on) (the )?"
        r"(bumps?|pot ?holes?|speed bumps?|rough roads?)\b|\b(suspension|shocks|struts?|sway bar)\b",
        "suspension|multipoint|multi point|inspection",
    ),
    # clicks when it won't start: the battery (the "won't start" before it is the shop's own battery keyword)
    (
        r"(?:(?<=start )|(?<=starts ))(it |the car |she )?(just |only )?(click\w*|makes a click\w*)( noise| sound)?\b|"
        r"\b(it |car |she )?(just |only )click\w*( noise| sound)?\b(?=.{0,30}\bstart)",
        "dead battery|battery",
    ),
]
