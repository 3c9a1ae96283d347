"""The jobs page: each person's background jobs (all of them for admins), with progress."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.jobs import services

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.app_context_processor
def _job_labels():
    return {"job_label": services.label, "job_result": services.result_of}


@bp.route("")
@access(Access.USER)
def index():
    """The visitor's jobs, newest first."""
    return render_template("jobs/index.html", jobs=services.jobs_for(current_user))


@bp.route("/<int:job_id>")
@access(Access.USER)
def detail(job_id: int):
    """One job: state, progress, last message, error."""
    return render_template("jobs/detail.html", job=services.job_for(current_user, job_id))


@bp.route("/<int:job_id>/status")
@access(Access.USER)
def status(job_id: int):
    """A job's state and progress as JSON, for its page to follow."""
    job = services.job_for(current_user, job_id)
    return jsonify(state=job.state, progress=job.progress, message=job.message)
