from framewatch.cli import app

app(prog_name="framewatch")
