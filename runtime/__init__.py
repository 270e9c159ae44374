"""The LeadSquared connector runtime: client, manifest, templating, runner, triggers, CLI."""
