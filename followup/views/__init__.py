"""Follow-up pages: priorities and worklist, method templates, plans and activities."""

from flask import Blueprint

bp = Blueprint("followup", __name__)

# The route modules add their views to bp when imported.
from followup.gains import report_views  # noqa: E402, F401
from followup.views import plans, priorities, templates  # noqa: E402, F401
