"""The test suite's database: Django's PostgreSQL backend with a cheaper flush between transactional tests (base.py),
and the `flush` command that goes with it (management/commands/flush.py). bartsvoice/settings_test.py names this
package both as the database ENGINE and as an app (the app only brings the command)."""
