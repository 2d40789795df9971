from framewatch.cli import app

if __name__ == "__main__":  # a spawned model process imports this module too
    app(prog_name="framewatch")
