"""`framewatch users add/list/passwd/remove`: who may sign in to the dashboard."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from framewatch.cli.base import handles_errors, out, print_json, print_table

users_app = typer.Typer(
    help="Dashboard logins (passwords are stored as argon2 hashes).", no_args_is_help=True
)


UserName = Annotated[str, typer.Argument(help="User name.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line, or the same line twice).",
    ),
]


def _password(from_stdin: bool, prompt: str) -> str:
    """The password from a pipe or asked twice, checked before any store is opened (a
    refused one leaves no new store behind)."""
    from framewatch.users import NOT_UTF8, UserError, check_password, read_password

    if from_stdin:
        try:
            password = read_password(sys.stdin.read())
        except UnicodeDecodeError:  # a strict UTF-8 standard input
            raise UserError(NOT_UTF8) from None
    else:
        password = typer.prompt(prompt, hide_input=True, confirmation_prompt=True)
    check_password(password)
    return password


@users_app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    name: UserName,
    password_stdin: PasswordStdin = False,
    admin: Annotated[
        bool, typer.Option("--admin", help="May use the SQL page and exports.")
    ] = False,
) -> None:
    """Add a user who may sign in to the dashboard (asks for the password twice)."""
    from framewatch.users import add_user, check_name

    check_name(name)
    password = _password(password_stdin, "Password")
    with ctx.obj.store() as store:
        user = add_user(store.con, name, password, admin)
        store.publish_snapshot()  # a running dashboard sees the new user at once
    out.print(f"added {user.name}" + (" (admin)" if user.admin else ""))


@users_app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Users and whether they are admins (never their passwords)."""
    from framewatch.users import list_users

    with ctx.obj.store(existing=True) as store:  # a mistyped --db: no new, empty store
        users = list_users(store.con)
    if as_json:
        print_json([{"name": u.name, "admin": u.admin, "created_at": u.created_at} for u in users])
    else:
        print_table(["name", "admin", "created"], [(u.name, u.admin, u.created_at) for u in users])


@users_app.command("remove")
@handles_errors
def remove(
    ctx: typer.Context,
    name: UserName,
) -> None:
    """Remove a user; their open dashboard sessions end too."""
    from framewatch.users import remove_user

    with ctx.obj.store(existing=True) as store:  # a mistyped --db: no new, empty store
        removed = remove_user(store.con, name)
        store.publish_snapshot()
    out.print(f"removed {removed}")


@users_app.command("passwd")
@handles_errors
def passwd(
    ctx: typer.Context,
    name: UserName,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (asks for it twice); the user's open sessions end."""
    from framewatch.users import set_password

    password = _password(password_stdin, "New password")
    with ctx.obj.store(existing=True) as store:  # a mistyped --db: no new, empty store
        changed = set_password(store.con, name, password)
        store.publish_snapshot()  # a running dashboard ends the old sessions at once
    out.print(f"new password set for {changed}")
