"""Fixture action: only its class definition matters to the metadata checks."""


class Check:
    def run(self, server, verbose=False):
        return True, {"server": server, "verbose": verbose}
