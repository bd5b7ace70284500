"""Role checks for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from contracts.auth.models import EDITOR_ROLES, Role


def roles_required(*roles: Role) -> Callable:
    """Let only logged-in users with one of the roles through; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = roles_required(*EDITOR_ROLES)
admin_required = roles_required(Role.ADMIN)
