"""mainapp: identity (users, roles, JWT), the Django admin and transactional e-mail."""
