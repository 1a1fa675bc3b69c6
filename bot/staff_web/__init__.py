"""The staff web at /staff: login per staff member, requests with filters, detail and changes, charts.

Where things are: `routes` (which page answers which path), `auth` (login, sessions, logout),
`throttle` (the login lockout and the client's address), `passwords` (scrypt hashes), `views`
(the request list, detail and failed deliveries), `chart_pages` (the weekly numbers and the
pictures' routes), `charts` (the pictures, drawn with matplotlib), `drawing` (the helper process
that draws them), `render` (Jinja2 templates in `templates/`, the stylesheet in `static/`).

Nothing is imported here: the drawing process imports `charts` without the web's dependencies.
"""
