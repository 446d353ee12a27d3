"""The intake bot: relays the CRM's proposed grid notes to a Matrix review room and reviewers' decisions back."""
