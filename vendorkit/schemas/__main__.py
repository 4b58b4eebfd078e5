"""``python -m vendorkit.schemas [PATH]``: regenerate the data dictionary (default
``docs/data-dictionary.md``) from the endpoint catalog."""

import sys

from vendorkit.schemas.dictionary import write_data_dictionary

if __name__ == "__main__":
    print(write_data_dictionary(*sys.argv[1:2]))
