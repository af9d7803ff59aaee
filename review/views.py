"""Drafting and review pages (temporary until the web UI lands)."""

from flask import Blueprint

bp = Blueprint("review", __name__)
