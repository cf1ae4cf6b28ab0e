"""Each piece of math as a pair: its NumPy form beside its Excel form."""
