"""The rules of an edit, free of Flask: operations, validation, permissions, merging."""
