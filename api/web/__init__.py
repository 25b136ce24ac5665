"""The web pages (issue #17): public registry, product pages with verification in the
browser, filing certificates, and the signed-in desks of reviewers, regional administrators
and auditors. Templates are Jinja2 (autoescaped), assets are served from the package."""
