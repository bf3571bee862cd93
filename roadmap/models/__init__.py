"""All models, imported here so Alembic and the app see every table."""

from roadmap.models.baselines import Baseline
from roadmap.models.changelog import Change, Checkpoint
from roadmap.models.comments import Comment, CommentRead, Mention
from roadmap.models.connections import LiveConnection
from roadmap.models.export_cache import CachedExport
from roadmap.models.facilitation import Announcement, Dot, Timer, Vote
from roadmap.models.mail import MailOptOut, MailSend
from roadmap.models.people import Membership, Person
from roadmap.models.presence import Presence
from roadmap.models.roadmap import Roadmap, Stakeholder, Step, StepStakeholder
from roadmap.models.share_links import ShareLink
from roadmap.models.sign_in_links import SignInLink
from roadmap.models.training import Group, JoinBlock, Training, TrainingModerator

__all__ = [
    "Announcement",
    "Baseline",
    "CachedExport",
    "Change",
    "Checkpoint",
    "Comment",
    "CommentRead",
    "Dot",
    "Group",
    "JoinBlock",
    "LiveConnection",
    "MailOptOut",
    "MailSend",
    "Membership",
    "Mention",
    "Person",
    "Presence",
    "Roadmap",
    "ShareLink",
    "SignInLink",
    "Stakeholder",
    "Step",
    "StepStakeholder",
    "Timer",
    "Training",
    "TrainingModerator",
    "Vote",
]
