"""The model: what a trained autoencoder is made of and how it runs.

Owns the torch modules and the architectures that assemble them, the
likelihoods (one object per kind of reconstruction term), the losses and the
evidence lower bound, the latent samplers, the conditions of a conditional
model, where a model runs (device, CPU threads, seeded streams), and the fitted
model as one value (what ``fit`` made, what inference reads, what a model file
holds) with its chunked float32 inference and the error statistics kept of the
training rows.  Imports :mod:`skae.tables` and :mod:`skae.plugins`; never
:mod:`skae.training` or the estimators.

:mod:`skae.likelihoods`, :mod:`skae.losses`, :mod:`skae.modules`,
:mod:`skae.architectures` and :mod:`skae.sampling` are the public names of
the modules here.
"""
