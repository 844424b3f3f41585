"""What every processor shares: the faust App settings and the view publisher; the runtime grows here."""
