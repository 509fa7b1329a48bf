"""Injected crimes, one module per family; each scenario plans instances up-front and builds lines lazily."""
