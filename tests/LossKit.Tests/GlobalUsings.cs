global using LossKit;
global using Xunit;
