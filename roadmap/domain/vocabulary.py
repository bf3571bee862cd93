"""The enumerations a road map speaks, with their labels marked for translation."""
from roadmap.domain.errors import N_

THEMES = {
    "landscaping": N_("Landscaping"),
    "waste_sorting": N_("Separate waste collection"),
    "other": N_("Other"),
}
STEP_STATUSES = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "blocked": N_("Blocked"),
}
SECTORS = {
    "residents": N_("Residents"),
    "administration": N_("Administration"),
    "business": N_("Business"),
    "media": N_("Media"),
    "ngo": N_("NGOs and initiative groups"),
    "experts": N_("Experts"),
}
ENGAGEMENT_LEVELS = {
    "inform": N_("Inform"),
    "consult": N_("Consult"),
    "involve": N_("Involve"),
    "collaborate": N_("Collaborate"),
    "empower": N_("Empower"),
}
