"""Who may read and edit which road map."""


def moderates(person, training) -> bool:
    return bool(person.is_moderator) and training.moderator_id == person.id


def membership_in(person, group):
    for membership in person.memberships:
        if membership.group_id == group.id:
            return membership
    return None


def may_edit_group_map(person, group) -> bool:
    """Participants edit their own group's map; moderators every map of their trainings."""
    if person is None or group.archived:
        return moderates(person, group.training) if person is not None else False
    return moderates(person, group.training) or membership_in(person, group) is not None


def may_view_group_map(person, group) -> bool:
    return may_edit_group_map(person, group)
