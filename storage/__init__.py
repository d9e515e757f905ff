"""Everything that touches Redis: the key schema, stored models and one repository per aggregate."""
