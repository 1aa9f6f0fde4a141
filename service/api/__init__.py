"""The management API for counselors, compliance officers, analysts and admins."""
