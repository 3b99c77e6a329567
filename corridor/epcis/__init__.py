"""corridor.epcis"""
