"""Sign in: user id (or e-mail) and password of a user of the open workspace."""

from __future__ import annotations

from ui import auth

auth.sign_in_form()
