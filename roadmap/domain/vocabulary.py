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
# What each engagement level means in practice, shown where a group chooses it.
ENGAGEMENT_DESCRIPTIONS = {
    "inform": N_("We tell them about the project: notices, posts, a newsletter."),
    "consult": N_("We ask their opinion (a survey, a meeting) and take it into account."),
    "involve": N_("We invite them to work on the solution: workshops, designing together."),
    "collaborate": N_("We decide and do the work together, as partners."),
    "empower": N_("They make the decision themselves; we help them carry it out."),
}
