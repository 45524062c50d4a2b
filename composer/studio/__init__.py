"""The web studio (`partimento studio`): compose, revise, hear and check in a browser.

app.py holds the JSON API and serves the page in static/; workers.py runs composing in
worker processes that a time limit can stop; jobs.py is what those processes do;
engraving.py turns MusicXML into verovio's SVG with an index of its notes; store.py keeps
every revision of every tab on disk; safety.py keeps a spec inside the studio's folder.
"""
