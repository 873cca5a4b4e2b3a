select view_name, sha256
from view_definitions
