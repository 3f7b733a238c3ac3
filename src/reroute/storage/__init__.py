"""Storage adapters: tables, the database (engine and unit of work), repositories, migrations."""
