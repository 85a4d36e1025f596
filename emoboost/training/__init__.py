"""Stage 6: training (the task): the one loop, each network's recipe, the clip loader, fold checks."""
