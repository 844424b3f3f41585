"""The passport service: fair appointment booking under daily quotas, and application status.

Pure core: ``booking`` (the records between stages, derived ids), ``phones``, ``citizens`` and ``slots``
(one fold per stage topic partition), ``protocol`` (the intake and the model of all stages), ``decisions``
(a decision as its contract), ``status`` and ``answer`` (the status fold, "is my passport ready?"),
``figures``. The workers that run the folds on Kafka come on top of these.
"""
