"""A minimal integration host: finds the connector by its entry point, uses only runtime.host."""

import json
from importlib.metadata import entry_points

(plugin,) = entry_points(group="ipaas.connectors", name="leadsquared")
lsq = plugin.load()  # the module runtime.host
manifest = lsq.load_manifest()
actions = [op for op in lsq.list_operations(manifest) if op.role == "action"]
print(manifest.display_name, len(actions), "actions, e.g.", actions[0].key)

with lsq.connect(None) as client:  # None: the embedded sandbox; else {"access_key": ..., ...}
    found = lsq.invoke(client, "find_lead", {"email": "priya.sharma@example.com"})
    print("find_lead:", found["lead"]["ProspectID"])

    def deliver(events):  # called before the cursor moves: store the events by key
        print("new_account:", [event.data["CompanyName"] for event in events])

    config = {"company_type": "Company", "since": "2020-01-01 00:00:00"}
    lsq.poll(client, "new_account", config, "host-state.sqlite3", deliver)

    body = json.dumps({"ProspectID": found["lead"]["ProspectID"], "FirstName": "Priya"})
    if lsq.verify_delivery("s3cret", {"X-LSQ-Connector-Secret": "s3cret"}):
        for event in lsq.parse_delivery(client, "new_lead", {}, body.encode(), "application/json"):
            print("new_lead:", event.key, event.data["lead_id"])
