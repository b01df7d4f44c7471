"""Parses a Prometheus text exposition (stdin) with the reference parser of
the Python client (Debian python3-prometheus-client) and prints it as JSON:
{"families": [{"name", "type", "help", "samples": [{"name", "labels",
"value"}]}]}. Exits 1 with the parser's complaint if the text is invalid."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    families = []
    try:
        for family in text_string_to_metric_families(text):
            families.append({
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [{"name": s.name, "labels": dict(s.labels),
                             "value": s.value} for s in family.samples],
            })
    except Exception as e:  # the parser raises ValueError and others
        print("invalid exposition: %r" % (e,), file=sys.stderr)
        return 1
    json.dump({"families": families}, sys.stdout, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
